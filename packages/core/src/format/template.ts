import { ConfigError } from '../errors/errors.js';

/**
 * Fills `{{name}}` placeholders. Templates are plain strings so that users can replace them in a config file;
 * {@link checkTemplate} refuses, when a mode is created, a template that uses a name the mode does not fill.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/** Throws a {@link ConfigError} naming the field when a template uses an unknown placeholder. */
export function checkTemplate(field: string, template: unknown, allowed: readonly string[]): string {
  if (typeof template !== 'string' || template.trim().length === 0) {
    throw new ConfigError(`${field} must be a non-empty string.`, { field });
  }
  for (const match of template.matchAll(/\{\{(\w+)\}\}/g)) {
    const name = match[1] as string;
    if (!allowed.includes(name)) {
      throw new ConfigError(
        `${field} uses the placeholder {{${name}}}; the allowed ones are ${allowed.map((item) => `{{${item}}}`).join(', ')}.`,
        { field, allowed },
      );
    }
  }
  return template;
}

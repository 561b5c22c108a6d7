import { MissingDependencyError } from '@azr/core/spec';

/**
 * Imports a runtime package when it is first needed, so that importing `@azr/backends` stays cheap and a
 * missing or broken install gives a {@link MissingDependencyError} that names the package to install.
 */
export async function importOptional<TModule>(
  packageName: string,
  feature: string,
  load: () => Promise<TModule>,
): Promise<TModule> {
  try {
    return await load();
  } catch (error) {
    throw new MissingDependencyError({ packageName, feature }, { cause: error });
  }
}

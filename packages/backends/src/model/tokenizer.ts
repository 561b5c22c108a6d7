import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChatMessage, ModelFormatError, type TokenizerV1 } from '@azr/core/spec';
import { importOptional } from '../shared/import-optional.js';

interface HuggingFaceTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: readonly number[], options?: { skip_special_tokens?: boolean }): string;
}

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required) return undefined;
    throw new ModelFormatError(`Cannot read ${path}.`, { path }, { cause: error });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFormatError(`${path} is not JSON.`, { path }, { cause: error });
  }
}

function specialId(vocabulary: Map<string, number>, value: unknown): number | undefined {
  const content =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null
        ? (value as { content?: unknown }).content
        : undefined;
  return typeof content === 'string' ? vocabulary.get(content) : undefined;
}

/**
 * The chat template of a tokenizer config: `chat_template` as a string, or the one named `default` in a list of
 * named templates; `undefined` when there is none.
 */
function chatTemplateOf(config: Record<string, unknown>, path: string): string | undefined {
  const template = config.chat_template;
  if (template === undefined || template === null) return undefined;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template.find((entry) => (entry as { name?: unknown }).name === 'default') as
      | { template?: unknown }
      | undefined;
    if (typeof named?.template === 'string') return named.template;
  }
  throw new ModelFormatError(
    `${path}: "chat_template" is neither a template nor a list with a "default" one.`,
    {
      path,
    },
  );
}

/**
 * Renders messages with a chat template (Jinja, through `@huggingface/jinja`, made for Hugging Face chat
 * templates), with the generation prompt and the tokenizer config's special tokens, as `transformers` does.
 */
async function chatTemplateRenderer(
  template: string,
  config: Record<string, unknown>,
  path: string,
): Promise<(messages: readonly ChatMessage[]) => string> {
  const { Template } = await import('@huggingface/jinja');
  let compiled: InstanceType<typeof Template>;
  try {
    compiled = new Template(template);
  } catch (error) {
    throw new ModelFormatError(
      `${path}: the chat template does not parse: ${(error as Error).message}`,
      { path },
      { cause: error },
    );
  }
  const token = (value: unknown) =>
    typeof value === 'string' ? value : ((value as { content?: string } | null)?.content ?? '');
  return (messages) =>
    compiled.render({
      messages: messages.map(({ role, content }) => ({ role, content })),
      add_generation_prompt: true,
      bos_token: token(config.bos_token),
      eos_token: token(config.eos_token),
    });
}

/**
 * Loads a Hugging Face tokenizer (`tokenizer.json`, and `tokenizer_config.json` when present) with
 * `@huggingface/tokenizers` as a {@link TokenizerV1}. Special tokens come from the tokenizer config; the
 * end-of-sequence token is required. A `chat_template` in the config becomes `applyChatTemplate` (an instruct
 * checkpoint's). Files may be named `<prefix>tokenizer.json` with `prefix`.
 */
export async function loadHuggingFaceTokenizer(
  directory: string,
  options: { readonly prefix?: string } = {},
): Promise<TokenizerV1> {
  const prefix = options.prefix ?? '';
  const tokenizerPath = join(directory, `${prefix}tokenizer.json`);
  const tokenizerJson = (await readJson(tokenizerPath, true)) as Record<string, unknown>;
  const config = (await readJson(join(directory, `${prefix}tokenizer_config.json`), false)) ?? {};
  const { Tokenizer } = await importOptional(
    '@huggingface/tokenizers',
    'Hugging Face tokenizers in @azr/backends',
    () => import('@huggingface/tokenizers'),
  );
  let tokenizer: HuggingFaceTokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, config) as unknown as HuggingFaceTokenizer;
  } catch (error) {
    throw new ModelFormatError(
      `${tokenizerPath} is not a tokenizer this SDK can load: ${(error as Error).message}`,
      { path: tokenizerPath },
      { cause: error },
    );
  }
  const vocabulary = new Map<string, number>();
  const model = tokenizerJson.model as { vocab?: unknown } | undefined;
  if (model?.vocab !== null && typeof model?.vocab === 'object' && !Array.isArray(model.vocab)) {
    for (const [token, id] of Object.entries(model.vocab as Record<string, number>))
      vocabulary.set(token, id);
  } else if (Array.isArray(model?.vocab)) {
    // Unigram models list [token, score] pairs; the position is the id.
    for (const [id, [token]] of (model.vocab as [string, number][]).entries()) vocabulary.set(token, id);
  }
  const added = Array.isArray(tokenizerJson.added_tokens)
    ? (tokenizerJson.added_tokens as { id: number; content: string; special?: boolean }[])
    : [];
  for (const token of added) vocabulary.set(token.content, token.id);
  const endOfSequence = specialId(vocabulary, config.eos_token);
  if (endOfSequence === undefined) {
    throw new ModelFormatError(
      `${tokenizerPath}: no end-of-sequence token (tokenizer_config.json "eos_token").`,
      { path: tokenizerPath },
    );
  }
  const vocabularySize = Math.max(...vocabulary.values()) + 1;
  const addBos = config.add_bos_token === true;
  // Added tokens that are not special (phi-2's runs of spaces) are ordinary text.
  const special = new Set(added.filter((token) => token.special === true).map((token) => token.id));
  const decode = (ids: readonly number[]) =>
    tokenizer.decode(
      ids.filter((id) => !special.has(id)),
      { skip_special_tokens: false },
    );
  // What a token adds after other text: decoded alone, a SentencePiece token loses its leading space ("▁-"
  // reads "-", but " -" after "1"), so it is decoded after a fixed anchor and the anchor is cut off.
  const anchor = tokenizer.encode('a', { add_special_tokens: false }).ids;
  const anchorText = decode(anchor);
  const configPath = join(directory, `${prefix}tokenizer_config.json`);
  const template = chatTemplateOf(config, configPath);
  const applyChatTemplate =
    template === undefined ? undefined : await chatTemplateRenderer(template, config, configPath);
  return {
    specificationVersion: 'v1',
    tokenizerId: tokenizerPath,
    vocabularySize,
    endOfSequenceTokenId: endOfSequence,
    beginningOfSequenceTokenId: addBos ? specialId(vocabulary, config.bos_token) : undefined,
    paddingTokenId: specialId(vocabulary, config.pad_token) ?? endOfSequence,
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    decode,
    tokenText: (id) => (special.has(id) ? '' : decode([...anchor, id]).slice(anchorText.length)),
    ...(applyChatTemplate === undefined ? {} : { applyChatTemplate }),
  };
}

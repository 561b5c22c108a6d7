import { ConfigError } from '../errors/errors.js';
import type { TokenizerV1 } from '../spec/tokenizer.js';

const END_OF_SEQUENCE = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * A tokenizer with one token per UTF-8 byte (ids 0-255) and an end-of-sequence token (id 256). It needs no
 * files and represents every string, which suits tiny models trained from scratch and tests.
 */
export function createByteTokenizer(): TokenizerV1 {
  return {
    specificationVersion: 'v1',
    tokenizerId: 'azr-byte',
    vocabularySize: 257,
    endOfSequenceTokenId: END_OF_SEQUENCE,
    beginningOfSequenceTokenId: undefined,
    paddingTokenId: END_OF_SEQUENCE,
    encode(text: string): number[] {
      return Array.from(encoder.encode(text));
    },
    decode(tokenIds: readonly number[]): string {
      const bytes: number[] = [];
      for (const id of tokenIds) {
        if (!Number.isInteger(id) || id < 0 || id > END_OF_SEQUENCE) {
          throw new ConfigError(`Token id ${id} is outside the byte tokenizer's vocabulary [0, 256].`, {
            field: 'tokenIds',
          });
        }
        if (id < END_OF_SEQUENCE) {
          bytes.push(id);
        }
      }
      return decoder.decode(new Uint8Array(bytes));
    },
    tokenText(tokenId: number): string {
      if (tokenId >= END_OF_SEQUENCE) {
        return '';
      }
      return tokenId < 0x80 ? String.fromCharCode(tokenId) : '\uFFFD';
    },
  };
}

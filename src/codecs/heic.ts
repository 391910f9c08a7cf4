/**
 * Whether this sharp can decode HEVC-coded HEIF, the HEIC an iPhone writes. sharp's prebuilt libvips has libheif
 * with the AV1 decoder only (HEVC is patent-encumbered), so AVIF decodes and HEIC does not; a custom libvips built
 * with libde265 decodes both. Asked once, of the decoder itself, rather than guessed from version strings.
 */
import sharp from 'sharp';

/** A real 96 × 64 HEVC HEIC (`ftyp heic`, written by libheif 1.15's heif-enc with x265), 385 bytes. */
const HEVC_SAMPLE_BASE64 =
  'AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAT9tZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAAA5waXRtAAAAAAABAAAAImlsb2MAAAAAREAAAQABAAAAAAFjAAEAAAAAAAAAHgAAACNpaW5mAAAAAAABAAAAFWluZmUCAAAAAAEAAGh2YzEAAAAAv2lwcnAAAAChaXBjbwAAAHVodmNDAQNwAAAAAAAAAAAAHvAA/P34+AAADwMgAAEAGEABDAH//wNwAAADAJAAAAMAAAMAHroCQCEAAQAoQgEBA3AAAAMAkAAAAwAAAwAeoDCBBZbqSSmubAgAAAMACAAAAwAIQCIAAQAHRAHBcrAiQAAAABRpc3BlAAAAAAAAAGAAAABAAAAAEHBpeGkAAAAAAwgICAAAABZpcG1hAAAAAAAAAAEAAQOBAoMAAAAmbWRhdAAAABooAa8J4CE5dV9faf//nD//+VHGdBzDzLqWpg==';

/** The bytes of that sample (tests upload it as an iPhone photo would arrive). */
export function hevcSampleHeic(): Buffer {
  return Buffer.from(HEVC_SAMPLE_BASE64, 'base64');
}

let hevcDecodable: Promise<boolean> | undefined;

/** Resolves true when sharp decodes HEVC-coded HEIF here; the answer is computed once per process. */
export function canDecodeHevc(): Promise<boolean> {
  hevcDecodable ??= sharp(hevcSampleHeic(), { failOn: 'warning' })
    .raw()
    .toBuffer()
    .then(
      () => true,
      () => false,
    );
  return hevcDecodable;
}

/**
 * `multipart/form-data` bodies, built once in memory so the client costs nothing per request.
 */
const BOUNDARY = '----profile-picture-bench-7d1f0c';

/** The request Content-Type matching {@link multipartBody}. */
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/**
 * One file part named `field`.
 * @param {string} field
 * @param {{ filename: string, mime: string, bytes: Buffer }} file
 */
export function multipartBody(field, file) {
  const { head, tail } = multipartFrame(field, file);
  return Buffer.concat([head, file.bytes, tail]);
}

/**
 * The bytes before and after a file part's content, for bodies that are streamed rather than held.
 * @param {string} field
 * @param {{ filename: string, mime: string }} file
 */
export function multipartFrame(field, file) {
  const head = Buffer.from(
    `--${BOUNDARY}\r\n` +
      `Content-Disposition: form-data; name="${field}"; filename="${file.filename}"\r\n` +
      `Content-Type: ${file.mime}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return { head, tail };
}

/**
 * Contender M (peer): what an app hand-wires without this library. Express 5 + multer memoryStorage (5 MiB limit) +
 * sharp, the straightforward way: three independent `sharp(buffer).rotate().resize(n, n).webp()` pipelines (run
 * concurrently, which is the generous reading) and `fs.writeFile` of each result. No validation beyond multer's
 * limit, no user records, no fsync — it is the baseline, not a recommendation.
 *
 * Env: BENCH_MEDIA_DIR (where variants are written).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import multer from 'multer';
import sharp from 'sharp';
import { serveBenchmark } from './harness.mjs';

const root = process.env.BENCH_MEDIA_DIR;
if (!root) throw new Error('BENCH_MEDIA_DIR is required');
const dir = path.join(root, 'peer');
await mkdir(dir, { recursive: true });

const VARIANTS = { sm: 64, md: 256, lg: 512 };
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 5 * 1024 * 1024, files: 1 } });

const app = express();
app.post('/upload-profile-picture/', upload.single('profile_picture'), async (req, res, next) => {
  try {
    if (!req.file) {
      res.status(400).json({ error: { code: 'NO_FILE' } });
      return;
    }
    const id = randomUUID();
    const variants = {};
    await Promise.all(
      Object.entries(VARIANTS).map(async ([name, side]) => {
        const out = await sharp(req.file.buffer).rotate().resize(side, side).webp({ quality: 82 }).toBuffer();
        const file = `${id}-${name}.webp`;
        await writeFile(path.join(dir, file), out);
        variants[name] = { key: `peer/${file}`, bytes: out.length };
      }),
    );
    res.json({ variants });
  } catch (err) {
    next(err);
  }
});
app.use((err, _req, res, _next) => {
  const status = err?.code === 'LIMIT_FILE_SIZE' ? 413 : err instanceof multer.MulterError ? 400 : 500;
  res.status(status).json({ error: { code: err?.code ?? 'ERROR', message: String(err?.message ?? err) } });
});

serveBenchmark(app, { name: 'M' });

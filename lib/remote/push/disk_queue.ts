/**
 * The durable queue of `push --queue-dir`: every batch (a snappy WriteRequest) is a file of its
 * own, written and synced before it is sent and deleted once a 2xx says it was delivered. A later
 * `push` on the same directory finds what is left and sends it first, oldest first.
 *
 * File `DIR/<16-digit sequence>.wwq`:
 *
 * | bytes | field |
 * | --- | --- |
 * | 4 | magic `WWQ1` |
 * | 4 | samples in the batch, u32 little-endian |
 * | 4 | body length in bytes, u32 little-endian |
 * | 4 | CRC-32C (Castagnoli) of the body, u32 little-endian |
 * | n | body: the snappy-compressed WriteRequest, as sent |
 *
 * A file whose length or CRC does not match (a write torn by a crash) is renamed to
 * `*.damaged`, reported, and skipped: never sent, never blocking the rest. `DIR/LOCK` is held
 * (flock) while a `push` uses the directory: a second one is refused. Beyond `maxBytes` the
 * oldest batches not being sent are dropped and counted.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { crc32c } from "../codec/crc32c.ts";

const MAGIC = 0x31515757; // "WWQ1" read as u32 little-endian
const HEADER_BYTES = 16;
const SUFFIX = ".wwq";
const NAME_RE = /^(\d{16})\.wwq$/;

/** One batch in the queue. */
export interface QueuedBatch {
  /** Sequence number (the file name). */
  seq: number;
  /** Samples in it (from the header). */
  samples: number;
  /** File size, bytes. */
  bytes: number;
}

/** Options of {@linkcode DiskQueue.open}. */
export interface DiskQueueOptions {
  /** Largest total size of the queue files, bytes; beyond it the oldest are dropped. Default 1 GiB. */
  maxBytes?: number;
  /** Log lines (damaged files, drops). Default: stderr. */
  log?: (line: string) => void;
}

/** Counters of a queue, for the summary. */
export interface DiskQueueStats {
  /** Batches found at open (left by earlier runs). */
  backlogBatches: number;
  /** Their samples. */
  backlogSamples: number;
  /** Samples written to the queue by this run. */
  queuedSamples: number;
  /** Bytes of the files this run wrote to the queue. */
  queuedBytes: number;
  /** Samples dropped because the queue was over `maxBytes`. */
  droppedSamples: number;
  /** Damaged files skipped. */
  damagedFiles: number;
}

async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/** A queue directory held by this process (see the module doc). */
export class DiskQueue {
  /** Counters, updated as the queue is used. */
  readonly stats: DiskQueueStats = {
    backlogBatches: 0,
    backlogSamples: 0,
    queuedSamples: 0,
    queuedBytes: 0,
    droppedSamples: 0,
    damagedFiles: 0,
  };
  readonly dir: string;
  #lock: Deno.FsFile;
  #batches: QueuedBatch[] = []; // in order, oldest first
  #inFlight = new Set<number>();
  #bytes = 0;
  #nextSeq = 1;
  #maxBytes: number;
  #log: (line: string) => void;

  private constructor(dir: string, lock: Deno.FsFile, options: DiskQueueOptions) {
    this.dir = dir;
    this.#lock = lock;
    this.#maxBytes = options.maxBytes ?? 1024 ** 3;
    this.#log = options.log ?? ((line) => console.error(`wattwave push: ${line}`));
  }

  /** Opens (creating) `dir`, takes its lock and lists the batches left by earlier runs. */
  static async open(dir: string, options: DiskQueueOptions = {}): Promise<DiskQueue> {
    await Deno.mkdir(dir, { recursive: true });
    const lock = await Deno.open(`${dir}/LOCK`, { read: true, write: true, create: true });
    if (!(await lock.tryLock(true))) {
      lock.close();
      throw new UsageError(`another wattwave push is using the queue ${dir} (its LOCK is held)`);
    }
    const q = new DiskQueue(dir, lock, options);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && NAME_RE.test(e.name)) names.push(e.name);
    }
    names.sort();
    for (const name of names) {
      const seq = Number(NAME_RE.exec(name)![1]);
      const path = `${dir}/${name}`;
      const header = await q.#readHeader(path);
      if (!header) continue;
      q.#batches.push({ seq, samples: header.samples, bytes: header.bytes });
      q.#bytes += header.bytes;
      q.stats.backlogBatches++;
      q.stats.backlogSamples += header.samples;
      q.#nextSeq = seq + 1;
    }
    return q;
  }

  #path(seq: number): string {
    return `${this.dir}/${String(seq).padStart(16, "0")}${SUFFIX}`;
  }

  async #damaged(path: string, why: string): Promise<void> {
    this.stats.damagedFiles++;
    this.#log(`damaged queue file ${path} skipped (${why}); kept as ${path}.damaged`);
    await Deno.rename(path, `${path}.damaged`).catch(() => {});
  }

  /** The header of a queue file, or undefined (reported and set aside) when it is damaged. */
  async #readHeader(path: string): Promise<{ samples: number; bytes: number } | undefined> {
    const f = await Deno.open(path, { read: true });
    try {
      const st = await f.stat();
      const head = new Uint8Array(HEADER_BYTES);
      let got = 0;
      while (got < HEADER_BYTES) {
        const n = await f.read(head.subarray(got));
        if (n === null) break;
        got += n;
      }
      const dv = new DataView(head.buffer);
      if (got < HEADER_BYTES || dv.getUint32(0, true) !== MAGIC) {
        await this.#damaged(path, got < HEADER_BYTES ? "shorter than its header" : "bad magic");
        return undefined;
      }
      const length = dv.getUint32(8, true);
      if (st.size !== HEADER_BYTES + length) {
        await this.#damaged(path, `${st.size} bytes, the header says ${HEADER_BYTES + length}`);
        return undefined;
      }
      return { samples: dv.getUint32(4, true), bytes: st.size };
    } finally {
      f.close();
    }
  }

  /** Batches in the queue, oldest first (including those being sent). */
  get batches(): readonly QueuedBatch[] {
    return this.#batches;
  }

  /** Samples in the queue. */
  get samples(): number {
    let n = 0;
    for (const b of this.#batches) n += b.samples;
    return n;
  }

  /** Bytes of the queue files. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Writes a batch durably and returns it: the file is written under its final name and its
   * data synced (a write torn by a crash fails its length or CRC check and is set aside), then
   * the directory is synced so that the file survives a power loss too; appends that come while
   * a directory sync runs share the next one.
   */
  async append(body: Uint8Array, samples: number): Promise<QueuedBatch> {
    const seq = this.#nextSeq++;
    const path = this.#path(seq);
    const bytes = new Uint8Array(HEADER_BYTES + body.length);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, MAGIC, true); // 4 bytes: magic "WWQ1"
    dv.setUint32(4, samples, true); // 4 bytes: samples
    dv.setUint32(8, body.length, true); // 4 bytes: body length
    dv.setUint32(12, crc32c(body), true); // 4 bytes: CRC-32C of the body
    bytes.set(body, HEADER_BYTES); // the body
    const f = await Deno.open(path, { write: true, createNew: true });
    try {
      let at = 0;
      while (at < bytes.length) at += await f.write(bytes.subarray(at));
      await f.syncData();
    } finally {
      f.close();
    }
    await this.#syncDirShared();
    const batch: QueuedBatch = { seq, samples, bytes: bytes.length };
    // Appends may finish out of order: keep the list in sequence order.
    let at = this.#batches.length;
    while (at > 0 && this.#batches[at - 1].seq > seq) at--;
    this.#batches.splice(at, 0, batch);
    this.#bytes += bytes.length;
    this.stats.queuedSamples += samples;
    this.stats.queuedBytes += bytes.length;
    await this.#enforceBound();
    return batch;
  }

  #dirSync: Promise<void> | undefined;
  #dirSyncAgain: Promise<void> | undefined;

  /** A directory sync that starts after this call (joined by other callers meanwhile). */
  #syncDirShared(): Promise<void> {
    if (!this.#dirSync) {
      this.#dirSync = syncDir(this.dir).finally(() => this.#dirSync = undefined);
      return this.#dirSync;
    }
    // One is running (it may have started before our file existed): share the next one.
    this.#dirSyncAgain ??= this.#dirSync.catch(() => {}).then(() => {
      this.#dirSyncAgain = undefined;
      return this.#syncDirShared();
    });
    return this.#dirSyncAgain;
  }

  /** Drops the oldest batches not being sent while the queue is over its bound. */
  async #enforceBound(): Promise<void> {
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#batches.find((b) => !this.#inFlight.has(b.seq));
      if (!oldest || oldest === this.#batches.at(-1)) return; // keep the newest
      await this.remove(oldest);
      this.stats.droppedSamples += oldest.samples;
      this.#log(
        `queue over --queue-max-bytes ${this.#maxBytes}: dropped the oldest batch ` +
          `(${oldest.samples} samples)`,
      );
    }
  }

  /** Whether `batch` is still queued (not dropped by the bound). */
  has(batch: QueuedBatch): boolean {
    return this.#batches.includes(batch);
  }

  /** Reads a batch's body for sending (undefined when the file is damaged: set aside, reported). */
  async read(batch: QueuedBatch): Promise<Uint8Array | undefined> {
    const path = this.#path(batch.seq);
    this.#inFlight.add(batch.seq);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (err) {
      this.#inFlight.delete(batch.seq);
      this.#forget(batch);
      await this.#damaged(path, (err as Error).message);
      return undefined;
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const body = bytes.subarray(HEADER_BYTES);
    const why = bytes.length < HEADER_BYTES || dv.getUint32(0, true) !== MAGIC
      ? "bad header"
      : dv.getUint32(8, true) !== body.length
      ? "length does not match"
      : dv.getUint32(12, true) !== crc32c(body)
      ? "CRC-32C does not match"
      : undefined;
    if (why) {
      this.#inFlight.delete(batch.seq);
      this.#forget(batch);
      await this.#damaged(path, why);
      return undefined;
    }
    return body;
  }

  #forget(batch: QueuedBatch): void {
    const i = this.#batches.indexOf(batch);
    if (i >= 0) {
      this.#batches.splice(i, 1);
      this.#bytes -= batch.bytes;
    }
  }

  /** Deletes a batch (delivered, or refused for good). */
  async remove(batch: QueuedBatch): Promise<void> {
    this.#inFlight.delete(batch.seq);
    this.#forget(batch);
    await Deno.remove(this.#path(batch.seq)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** The batch is no longer being sent (left for a later run). */
  release(batch: QueuedBatch): void {
    this.#inFlight.delete(batch.seq);
  }

  /** Releases the lock. */
  close(): void {
    this.#lock.close();
  }
}

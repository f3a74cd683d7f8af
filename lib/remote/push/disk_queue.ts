/**
 * The durable queue of `push --queue-dir`: every batch (a snappy WriteRequest) is on disk and
 * synced before it is sent, and deleted once a 2xx says it was delivered. A later `push` on the
 * same directory finds what is left and sends it first, oldest first.
 *
 * Batches are written in groups (group commit): the batches cut while one file is being written
 * and synced go together into the next file, so a fast input costs one sync per group, not per
 * batch. File `DIR/<16-digit sequence>.wwq` holds one or more records:
 *
 * | bytes | field |
 * | --- | --- |
 * | 4 | magic `WWQ1` |
 * | 4 | samples in the batch, u32 little-endian |
 * | 4 | body length in bytes, u32 little-endian |
 * | 4 | CRC-32C (Castagnoli) of the body, u32 little-endian |
 * | n | body: the snappy-compressed WriteRequest, as sent |
 *
 * A record whose header, length or CRC does not match (a write torn by a crash) is reported and
 * skipped, with what follows it in its file: never sent, never blocking the other files. A file
 * is deleted once all its batches are delivered (or dropped). `DIR/LOCK` is held (flock) while a
 * `push` uses the directory: a second one is refused. Beyond `maxBytes` the oldest batches not
 * being sent are dropped and counted.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { crc32c } from "../codec/crc32c.ts";

const MAGIC = 0x31515757; // "WWQ1" read as u32 little-endian
const HEADER_BYTES = 16;
const SUFFIX = ".wwq";
const NAME_RE = /^(\d{16})\.wwq$/;

/** One batch in the queue: a record of a queue file. */
export interface QueuedBatch {
  /** Sequence number of its file. */
  seq: number;
  /** Byte offset of its record in the file. */
  offset: number;
  /** Samples in it (from the header). */
  samples: number;
  /** Bytes of its record (header and body). */
  bytes: number;
}

/** A record read from a queue file. */
export interface QueueRecord {
  /** Byte offset of the record. */
  offset: number;
  /** Samples (from the header). */
  samples: number;
  /** The body. */
  body: Uint8Array;
}

/**
 * The records of a queue file's bytes, in order; `damaged` says why the rest of the file (from
 * byte `damagedAt`) could not be read, when it could not.
 */
export function parseQueueFile(
  bytes: Uint8Array,
): { records: QueueRecord[]; damaged?: string; damagedAt?: number } {
  const records: QueueRecord[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < HEADER_BYTES) {
      return { records, damaged: "a record shorter than its header", damagedAt: at };
    }
    if (dv.getUint32(at, true) !== MAGIC) return { records, damaged: "bad magic", damagedAt: at };
    const samples = dv.getUint32(at + 4, true);
    const length = dv.getUint32(at + 8, true);
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length) {
      return { records, damaged: `a record of ${length} bytes is cut short`, damagedAt: at };
    }
    const body = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32c(body) !== dv.getUint32(at + 12, true)) {
      return { records, damaged: "CRC-32C does not match", damagedAt: at };
    }
    records.push({ offset: at, samples, body });
    at = end;
  }
  return { records };
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
  /** Bytes of the records this run wrote to the queue. */
  queuedBytes: number;
  /** Samples dropped because the queue was over `maxBytes`. */
  droppedSamples: number;
  /** Damaged files (or damaged tails of files) skipped. */
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

interface PendingAppend {
  body: Uint8Array;
  samples: number;
  resolve: (b: QueuedBatch) => void;
  reject: (err: unknown) => void;
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
  /** The queue directory. */
  readonly dir: string;
  #lock: Deno.FsFile;
  #batches: QueuedBatch[] = []; // in order, oldest first
  #present = new Set<QueuedBatch>();
  #live = new Map<number, number>(); // file sequence → batches of it not yet removed
  #inFlight = new Set<QueuedBatch>();
  #bytes = 0;
  #nextSeq = 1;
  #maxBytes: number;
  #log: (line: string) => void;
  #pending: PendingAppend[] = [];
  #writing = false;

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
      q.#nextSeq = seq + 1;
      const path = `${dir}/${name}`;
      const parsed = parseQueueFile(await Deno.readFile(path));
      if (parsed.damaged) q.#reportDamaged(path, parsed.damaged, parsed.records.length);
      if (parsed.records.length === 0) {
        await Deno.rename(path, `${path}.damaged`).catch(() => {});
        continue;
      }
      for (const r of parsed.records) {
        q.#add({ seq, offset: r.offset, samples: r.samples, bytes: HEADER_BYTES + r.body.length });
        q.stats.backlogBatches++;
        q.stats.backlogSamples += r.samples;
      }
    }
    return q;
  }

  #path(seq: number): string {
    return `${this.dir}/${String(seq).padStart(16, "0")}${SUFFIX}`;
  }

  #reportDamaged(path: string, why: string, readable: number): void {
    this.stats.damagedFiles++;
    this.#log(
      `damaged queue file ${path} skipped (${why})` +
        (readable ? `: its first ${readable} batches are kept` : `; kept as ${path}.damaged`),
    );
  }

  #add(batch: QueuedBatch): void {
    // Groups may finish out of order: keep the list in file and record order.
    let at = this.#batches.length;
    while (at > 0) {
      const b = this.#batches[at - 1];
      if (b.seq < batch.seq || (b.seq === batch.seq && b.offset < batch.offset)) break;
      at--;
    }
    this.#batches.splice(at, 0, batch);
    this.#present.add(batch);
    this.#bytes += batch.bytes;
    this.#live.set(batch.seq, (this.#live.get(batch.seq) ?? 0) + 1);
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

  /** Bytes of the queued records. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Writes a batch durably and returns it once its file's data and the directory are synced.
   * Batches appended while a group is being written form the next group (one file, one sync).
   */
  append(body: Uint8Array, samples: number): Promise<QueuedBatch> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ body, samples, resolve, reject });
      if (!this.#writing) void this.#writeGroups();
    });
  }

  async #writeGroups(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length) {
        const group = this.#pending;
        this.#pending = [];
        try {
          const batches = await this.#writeFile(group);
          for (let i = 0; i < group.length; i++) group[i].resolve(batches[i]);
        } catch (err) {
          for (const p of group) p.reject(err);
        }
        try {
          await this.#enforceBound();
        } catch (err) {
          this.#log(`cannot drop the oldest queued batch: ${(err as Error).message}`);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /** One file holding `group` (written under its final name: a torn one fails its checks). */
  async #writeFile(group: PendingAppend[]): Promise<QueuedBatch[]> {
    const seq = this.#nextSeq++;
    let total = 0;
    for (const p of group) total += HEADER_BYTES + p.body.length;
    const bytes = new Uint8Array(total);
    const dv = new DataView(bytes.buffer);
    const batches: QueuedBatch[] = [];
    let at = 0;
    for (const p of group) {
      dv.setUint32(at, MAGIC, true); // 4 bytes: magic "WWQ1"
      dv.setUint32(at + 4, p.samples, true); // 4 bytes: samples
      dv.setUint32(at + 8, p.body.length, true); // 4 bytes: body length
      dv.setUint32(at + 12, crc32c(p.body), true); // 4 bytes: CRC-32C of the body
      bytes.set(p.body, at + HEADER_BYTES); // the body
      batches.push({ seq, offset: at, samples: p.samples, bytes: HEADER_BYTES + p.body.length });
      at += HEADER_BYTES + p.body.length;
    }
    const f = await Deno.open(this.#path(seq), { write: true, createNew: true });
    try {
      let w = 0;
      while (w < bytes.length) w += await f.write(bytes.subarray(w));
      await f.syncData();
    } finally {
      f.close();
    }
    await syncDir(this.dir);
    for (const b of batches) {
      this.#add(b);
      this.stats.queuedSamples += b.samples;
      this.stats.queuedBytes += b.bytes;
    }
    return batches;
  }

  /** Drops the oldest batches not being sent while the queue is over its bound. */
  async #enforceBound(): Promise<void> {
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#batches.find((b) => !this.#inFlight.has(b));
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
    return this.#present.has(batch);
  }

  /** Reads a batch's body for sending (undefined when it is damaged: reported, dropped). */
  async read(batch: QueuedBatch): Promise<Uint8Array | undefined> {
    const path = this.#path(batch.seq);
    this.#inFlight.add(batch);
    let why: string | undefined;
    let body: Uint8Array | undefined;
    try {
      const f = await Deno.open(path, { read: true });
      try {
        const bytes = new Uint8Array(batch.bytes);
        await f.seek(batch.offset, Deno.SeekMode.Start);
        let got = 0;
        while (got < bytes.length) {
          const n = await f.read(bytes.subarray(got));
          if (n === null) break;
          got += n;
        }
        const parsed = parseQueueFile(bytes.subarray(0, got));
        if (parsed.records.length === 1 && !parsed.damaged) body = parsed.records[0].body;
        else why = parsed.damaged ?? "unreadable record";
      } finally {
        f.close();
      }
    } catch (err) {
      why = (err as Error).message;
    }
    if (body) return body;
    this.#reportDamaged(path, `batch at byte ${batch.offset}: ${why}`, 0);
    await this.remove(batch);
    return undefined;
  }

  /** Deletes a batch (delivered, or refused for good); its file goes with its last batch. */
  async remove(batch: QueuedBatch): Promise<void> {
    this.#inFlight.delete(batch);
    if (!this.#present.delete(batch)) return;
    this.#batches.splice(this.#batches.indexOf(batch), 1);
    this.#bytes -= batch.bytes;
    const left = (this.#live.get(batch.seq) ?? 1) - 1;
    if (left > 0) {
      this.#live.set(batch.seq, left);
      return;
    }
    this.#live.delete(batch.seq);
    await Deno.remove(this.#path(batch.seq)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** The batch is no longer being sent (left for a later run). */
  release(batch: QueuedBatch): void {
    this.#inFlight.delete(batch);
  }

  /** Releases the lock. */
  close(): void {
    this.#lock.close();
  }
}

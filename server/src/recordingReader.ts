/**
 * Reads a recording file (`--record`, docs/protocol.md) as a stream: one fixed buffer, so a file of any size
 * reads in bounded memory (what is kept of it is the session store's to bound, as for a live app), and the
 * frames are handed on as they decode. A damaged, cut, empty or unreadable file never throws: the result says
 * how it ended, with a sentence for the user naming where it stopped. server/src/telemetry.ts uses it for Open
 * Recording and for the runs a restarted server adopts; docs/runtime.md, "Recordings", lists the sentences.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type Frame, ProtocolError, StreamDecoder, type StreamError } from '../../protocol/wire';

/** Bytes read at a time: the reader's memory, whatever the file's size. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * How a recording ended: `whole` (every byte read into whole frames), `cut` (it ends inside a frame: the app
 * was killed while writing, or still writes), `damaged` (a rule of docs/protocol.md broken part-way), `empty`
 * (no bytes, or no frames), `foreign` (not a recording this reader can read), `unreadable` (the file system
 * refused).
 */
export type RecordingEnd = 'whole' | 'cut' | 'damaged' | 'empty' | 'foreign' | 'unreadable';

export interface RecordingRead {
  end: RecordingEnd;
  /** Bytes read from the file. */
  bytes: number;
  /** Whole frames handed on. */
  frames: number;
  /** What the user should know, in one sentence without a final stop; undefined for a whole recording. */
  problem?: string;
}

const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string): string => `${count(n)} ${one}${n === 1 ? '' : 's'}`;

/** Reads `path`, calling `onFrame` for each whole frame in order. */
export async function readRecordingFile(path: string, onFrame: (frame: Frame) => void, chunkBytes = READ_CHUNK_BYTES): Promise<RecordingRead> {
  const decoder = new StreamDecoder();
  let bytes = 0;
  let frames = 0;
  let firstType: string | undefined;
  const take = (decoded: Frame[]): void => {
    for (const frame of decoded) {
      firstType ??= frame.type;
      frames++;
      onFrame(frame);
    }
  };
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { end: 'unreadable', bytes, frames, problem: `could not open the recording (${messageOf(error)}): check that the file is there and readable` };
  }
  try {
    const buffer = new Uint8Array(chunkBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, bytes);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      // The decoder copies what it keeps, so the buffer is read into again.
      take(decoder.feed(buffer.subarray(0, bytesRead)));
    }
  } catch (error) {
    if (error instanceof ProtocolError) {
      const { at, framesBefore } = error as StreamError;
      take(framesBefore);
      if (at.frame < 0) return { end: 'foreign', bytes, frames, problem: `the file is not a Reactor Scope recording this version can read: ${error.message}` };
      return {
        end: 'damaged',
        bytes,
        frames,
        problem:
          `the recording is damaged at byte ${count(at.offset)}, in frame ${count(at.frame + 1)} (${error.message}); ` +
          `${frames === 1 ? 'the whole frame before it is' : `the ${count(frames)} whole frames before it are`} shown, nothing after it`,
      };
    }
    return { end: 'unreadable', bytes, frames, problem: `could not read the recording past byte ${count(bytes)} (${messageOf(error)}); what was read is shown` };
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (bytes === 0) {
    return { end: 'empty', bytes, frames, problem: 'the file is empty, so it is not a Reactor Scope recording (an app that ends before its reactor starts writes nothing)' };
  }
  if (decoder.pendingBytes > 0) {
    const { offset, frame } = decoder.position;
    if (frame < 0) return { end: 'foreign', bytes, frames, problem: `the file is ${plural(bytes, 'byte')} long: too short to be a Reactor Scope recording` };
    return {
      end: 'cut',
      bytes,
      frames,
      problem:
        `the recording ends inside frame ${count(frame + 1)}, at byte ${count(offset)} (its last ${plural(decoder.pendingBytes, 'byte')} were left out): ` +
        'the app was killed while writing it, or is still running',
    };
  }
  if (frames === 0) return { end: 'empty', bytes, frames, problem: 'the recording holds no frames: the app wrote nothing after its first bytes' };
  if (firstType !== 'hello') {
    return { end: 'damaged', bytes, frames, problem: `the recording does not start with a HELLO frame (its first is ${firstType?.toUpperCase() ?? 'of an unknown type'}): part of a stream, not a whole run` };
  }
  return { end: 'whole', bytes, frames };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

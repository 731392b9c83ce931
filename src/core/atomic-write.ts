import fs from 'node:fs';
import path from 'node:path';

/** The mode and owner a replaced file keeps; without them a new file gets `mode` and the writer's owner. */
export interface FileAttributes {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Replace `file` with `content` so that a crash at any instant leaves the old or the new file, never a partial one:
 * a temporary file in the same directory given the mode (and owner) first, fsync, rename over, fsync the directory.
 * On any failure the temporary file is removed and the old file is left as it was.
 */
export function writeFileAtomic(
  file: string,
  content: string | Buffer,
  attributes: FileAttributes = { mode: 0o644 },
): void {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(temp, 'wx', attributes.mode);
  try {
    try {
      // Owner, then mode (a chown may clear set-id bits), both before the content: the umask may have narrowed the
      // mode at open, and no reader ever sees the file with other permissions than the one it replaces.
      const { uid, gid } = attributes;
      if (uid !== undefined && gid !== undefined) fs.fchownSync(fd, uid, gid);
      fs.fchmodSync(fd, attributes.mode);
      writeAll(fd, typeof content === 'string' ? Buffer.from(content) : content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/** write(2) may write less than asked (a disk filling up): loop until all is written or it fails outright. */
function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length; ) {
    const written = fs.writeSync(fd, bytes, done, bytes.length - done);
    // A regular file that takes nothing without an error would loop forever: call it what it is.
    if (written === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    done += written;
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // The file system turned read-only under us: the temporary file stays, the error that matters is the caller's.
  }
}

/**
 * The part of write-file-atomic (7.x, CommonJS, no types of its own; the
 * DefinitelyTyped ones describe 4.x) that io/atomic-file.ts uses.
 */
declare module 'write-file-atomic' {
  interface Options {
    /** fsync the temp file before the rename. Default true. */
    fsync?: boolean;
    /** Called with the temp file's path after it is created, before write-file-atomic writes to it. */
    tmpfileCreated?: (tmpfile: string) => void | Promise<void>;
    /** Default: the replaced file's mode. */
    mode?: number;
    /** Default: the replaced file's owner and group. */
    chown?: { uid: number; gid: number };
  }
  function writeFileAtomic(filename: string, data: string | Buffer, options?: Options): Promise<void>;
  export = writeFileAtomic;
}

// The parts of hoodiecrow-imap (an in-process IMAP server by imapflow's author) the simulator uses.
declare module 'hoodiecrow-imap' {
  interface HoodiecrowServer {
    listen(port: number, host: string, cb: () => void): void;
    close(cb: () => void): void;
    appendMessage(mailbox: string, flags: string[], date: Date, raw: string): unknown;
    server: import('node:net').Server;
  }
  function hoodiecrow(options: { plugins?: string[]; users?: Record<string, { password: string }>; storage?: unknown; debug?: boolean }): HoodiecrowServer;
  export default hoodiecrow;
}

// The one piece of Node.js the server route reads: its environment. Declared
// here so that tsc checks the route without @types/node, which is not pinned.
declare const process: {
  readonly env: Readonly<Record<string, string | undefined>>;
};

// connkit/socket-ipc: reserved for the drop-in face of `@crussell52/socket-ipc` (not available in this version).
export {};

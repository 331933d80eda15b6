// connkit/thrift: reserved for the drop-in face of `thrift` (not available in this version).
export {};

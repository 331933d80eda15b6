// connkit/connman: reserved for the drop-in face of `connman` (not available in this version).
export {};

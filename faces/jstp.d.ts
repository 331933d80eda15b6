// connkit/jstp: reserved for the drop-in face of `@metarhia/jstp` (not available in this version).
export {};

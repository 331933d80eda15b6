// connkit/register has no exports: loading it (`node -r connkit/register`, `--import
// connkit/register`, or `import 'connkit/register'`) makes `thrift`, `@metarhia/jstp`,
// `metarhia-jstp`, `connman` and `@crussell52/socket-ipc` resolve to connkit's faces.
export {};

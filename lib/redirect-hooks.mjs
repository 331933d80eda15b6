// The module resolve hook of `connkit/register` (runs on the loader thread).
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { faceFor } = createRequire(import.meta.url)('./redirect.js');

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL?.startsWith('file:') ? fileURLToPath(context.parentURL) : undefined;
  const face = faceFor(specifier, parent);
  return face ? { url: pathToFileURL(face).href, format: 'commonjs', shortCircuit: true } : nextResolve(specifier, context);
}

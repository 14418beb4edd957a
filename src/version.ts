// The package version, read from package.json (esbuild and tsx inline the JSON), so --version, the
// PNG metadata and the library's parameters cannot drift from the published version.
import pkg from '../package.json' with { type: 'json' };

export const TETHER_VERSION: string = pkg.version;
export const SOFTWARE = `tether-sd ${TETHER_VERSION}`;

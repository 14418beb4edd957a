// The CLI's version strings: the package's (src/version.ts).
export { SOFTWARE, TETHER_VERSION } from '../version.js';

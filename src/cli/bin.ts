#!/usr/bin/env node
// Entry point of the `tether` executable (bundled to dist/tether.mjs by tools/build.mjs).
import { run } from './main.js';

void run();

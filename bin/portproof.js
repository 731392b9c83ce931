#!/usr/bin/env node
// The workstation CLI runs from TypeScript source through tsx; the hooks on a host are the compiled binaries.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

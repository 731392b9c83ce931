export * from '../../src/rehearsal/ports.ts';

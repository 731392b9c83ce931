// The rehearsal kit lives in src/rehearsal so that `npm start` and the benchmarks use the same parts as the tests.
export * from '../../src/rehearsal/hammer.ts';

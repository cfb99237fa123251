// The e2e suites use mocha's "tdd" globals (suite, test, suiteSetup, teardown); unit tests import node:test instead.
/// <reference types="mocha" />

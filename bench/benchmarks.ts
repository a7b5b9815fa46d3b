/**
 * The benchmark list. To add one, write bench/<name>.ts calling registerBenchmark(...) and add
 * ONE import line below.
 */
import './train-step.js';
import './fl.js';
import './winograd.js';
import './cim.js';

/**
 * The isnotai API simulator (development and tests only): starting one, and the dataset, tiers and
 * faults that tests use.
 */
export {
  startSimulator,
  DEFAULT_SIM_KEYS,
  type RunningSimulator,
  type SimulatorOptions,
  type SimulatorFaults,
  type ForcedFault,
  type ReceivedRequest,
} from './server';
export { buildDataset, SIM_DEFAULT_NOW, SIM_DEFAULT_SEED, type SimDataset, type DatasetOptions, type Persona } from './dataset';
export { TIER_MAX_PAGE, type Tier } from './params';
export { DatasetOverrideError, type DatasetOverrides } from './dataset';
export { foreignSessionsIn, HOSTILE, hostileOverrides } from './hostile';

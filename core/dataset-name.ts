/**
 * The rule for dataset names (the key segment after `incoming/`, the contract file's stem).
 * A module of its own so that code needing only the name rule (core/layout, and through it every
 * step) does not load the contract loader and ajv: ≈150 KB less in each Lambda bundle that never
 * reads a contract.
 */
export const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;

// The declaration of dist/daemon/profile/schema-validator.js, which the build generates
// (scripts/gen-schema-validator.ts): ajv's compile of config/profile.schema.json, as code.
import type { ValidateFunction } from 'ajv';

export declare const validate: ValidateFunction;

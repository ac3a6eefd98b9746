/**
 * Every migration, in order, as a static record: the list the migrator runs.
 *
 * Not FileMigrationProvider: that reads a directory at run time, which differs between ts-jest (.ts)
 * and dist/ (.js) and breaks bundling. Add a migration: create NNN_name.ts and list it here (and in
 * test/store/db.test.ts); never edit one that has shipped.
 */
import type { Migration } from 'kysely';
import * as m001 from './001_ltijs_state';
import * as m002 from './002_tool_tables';
import * as m003 from './003_audit_client_id';
import * as m004 from './004_audit_subjects';
import * as m005 from './005_key_check';
import * as m006 from './006_launch_state';
import * as m007 from './007_review';
import * as m008 from './008_student_side';
import * as m009 from './009_onboarding';
import * as m010 from './010_roster';

export const migrations: Record<string, Migration> = {
  '001_ltijs_state': m001,
  '002_tool_tables': m002,
  '003_audit_client_id': m003,
  '004_audit_subjects': m004,
  '005_key_check': m005,
  '006_launch_state': m006,
  '007_review': m007,
  '008_student_side': m008,
  '009_onboarding': m009,
  '010_roster': m010,
};

/**
 * What the launch code answers when it refuses a login, a launch or a session. src/lti decides and
 * never renders: it passes a LaunchRefusal to Express's `next`, and src/web's error handler renders
 * it as a page (or JSON) with its status, code, message and hints, like any other error.
 */

/** A form that posts an unused login initiation again, from a new top-level window. */
export interface NewWindowForm {
  action: string;
  fields: Array<{ name: string; value: string }>;
}

export class LaunchRefusal extends Error {
  override readonly name = 'LaunchRefusal';
  constructor(
    readonly status: 400 | 401,
    /** Stable, snake_case: what the page shows as its reference and tests and logs match on. */
    readonly code: string,
    message: string,
    /** What the person can do next, one line each. */
    readonly hints: readonly string[] = [],
    /** Offered as an "Open the tool in a new window" button. */
    readonly newWindowForm?: NewWindowForm,
  ) {
    super(message);
  }
}

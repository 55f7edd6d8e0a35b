// The agent page's transcript: filled once the transcript API exists (issue 30 item 1); until then the panel says so.
export const transcript = {
  start() {},
};

/*
 * Test-only PAM module: a second keyboard-interactive round for the sshd test harness.
 *
 * Stock PAM modules only ask echo-off password prompts, so a real two-round login whose
 * second round differs (prompt text AND echo flag) needs this: it asks "Verification code: "
 * with PAM_PROMPT_ECHO_ON and compares the answer with the module argument code=<digits>.
 * Built by tests/harness/sshd.ts with: gcc -shared -fPIC -o pam_webssh_otp.so <this> -lpam
 */
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdlib.h>
#include <string.h>

static const char *expected_code(int argc, const char **argv) {
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "code=", 5) == 0) return argv[i] + 5;
  }
  return NULL;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  const char *want = expected_code(argc, argv);
  if (want == NULL || *want == '\0') return PAM_AUTH_ERR;

  char *answer = NULL;
  int rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &answer, "%s", "Verification code: ");
  if (rc != PAM_SUCCESS) return rc;
  if (answer == NULL) return PAM_CONV_ERR;

  int ok = strcmp(answer, want) == 0;
  free(answer);
  return ok ? PAM_SUCCESS : PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh; (void)flags; (void)argc; (void)argv;
  return PAM_SUCCESS;
}

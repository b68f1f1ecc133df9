/* unit.h - what every cmocka unit test includes.

   Each test binary is one group and prints TAP, so `prove` can run it
   (through tests/unit/run-unit.sh, which fixes cmocka's skip lines):

     int main (void) { return unit_run (tests); }  */
#ifndef CAGE_UNIT_H
#define CAGE_UNIT_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define unit_run(tests)                                                        \
  (cmocka_set_message_output (CM_OUTPUT_TAP),                                  \
   cmocka_run_group_tests_name (__FILE__, (tests), NULL, NULL))

#define N_ELEMS(a) (sizeof (a) / sizeof (a)[0])

#endif

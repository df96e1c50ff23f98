/* kplane - the control plane binary (placeholder until the server lands). */
#include "config.h"
#include <stdio.h>
#include <kplane/kplane.h>
int main(void)
{
	printf("kplane %s\n", kp_version());
	return 0;
}

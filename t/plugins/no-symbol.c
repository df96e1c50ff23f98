/* A shared object without the kp_plugin descriptor. */
#include "config.h"
int not_a_plugin(void);
int not_a_plugin(void)
{
	return 42;
}

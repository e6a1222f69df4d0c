/* sheriff command line: dispatches to one file per subcommand. */
#include <stdio.h>

int main(void)
{
	return 0;
}

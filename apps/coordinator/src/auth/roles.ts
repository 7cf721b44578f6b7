import { SetMetadata } from "@nestjs/common";
import type { ApiRole } from "@gradcheck/contracts";

export const ROLE_KEY = "gradcheck:role";
export const PUBLIC_KEY = "gradcheck:public";

/** The least role an endpoint needs; viewer when absent. */
export const RequiresRole = (role: ApiRole) => SetMetadata(ROLE_KEY, role);

/** An endpoint open without a key (health only). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

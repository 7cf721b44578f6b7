/** Injection tokens for values that are not classes. */
export const CONFIG = Symbol("CoordinatorConfig");
export const PRISMA = Symbol("PrismaClient");

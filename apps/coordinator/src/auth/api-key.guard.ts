import { ForbiddenException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { roleAllows, type ApiRole } from "@gradcheck/contracts";
import { ApiKeyRepository } from "@gradcheck/db";
import type { Request } from "express";
import { PUBLIC_KEY, ROLE_KEY } from "./roles.js";

/** Every endpoint but health needs `Authorization: Bearer <key>` of a role high enough. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ApiKeyRepository) private readonly keys: ApiKeyRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const needed = this.reflector.getAllAndOverride<ApiRole>(ROLE_KEY, targets) ?? "viewer";
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) throw new UnauthorizedException("an API key is required: send the header Authorization: Bearer <key> (create one with gradcheck keys create)");
    const key = await this.keys.verify(match[1]);
    if (!key) throw new UnauthorizedException("the API key is unknown or revoked");
    if (!roleAllows(key.role, needed)) throw new ForbiddenException(`this needs a key of role ${needed} or above; this key's role is ${key.role}`);
    return true;
  }
}

// The wallet channels this Corridor instance talks to, by name; which one serves a provider.
import type { WalletConnector } from "../../channels/contract.ts";

export class WalletRegistry {
  private readonly byName = new Map<string, WalletConnector>();

  constructor(connectors: WalletConnector[]) {
    for (const connector of connectors) {
      if (this.byName.has(connector.name)) throw new Error(`programmer error: wallet channel ${connector.name} registered twice`);
      this.byName.set(connector.name, connector);
    }
  }

  get(name: string): WalletConnector | undefined {
    return this.byName.get(name);
  }

  /** The first channel serving `provider`. */
  forProvider(provider: string): WalletConnector | undefined {
    return [...this.byName.values()].find((connector) => connector.providers.includes(provider));
  }

  list(): WalletConnector[] {
    return [...this.byName.values()];
  }
}

// The channels this Corridor instance talks to, by name, in their default priority order.
import type { CollectionConnector, Connector } from "./contract.ts";

export class ChannelRegistry {
  private readonly byName = new Map<string, Connector>();

  constructor(connectors: Connector[]) {
    for (const connector of connectors) {
      if (this.byName.has(connector.name)) throw new Error(`programmer error: channel ${connector.name} registered twice`);
      this.byName.set(connector.name, connector);
    }
  }

  get(name: string): Connector | undefined {
    return this.byName.get(name);
  }

  require(name: string): Connector {
    const connector = this.byName.get(name);
    if (!connector) throw new Error(`programmer error: unknown channel ${name}`);
    return connector;
  }

  list(): Connector[] {
    return [...this.byName.values()];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

/** Collection channels (bank transfers), by name: kept apart from card routing. */
export class CollectionRegistry {
  private readonly byName = new Map<string, CollectionConnector>();

  constructor(connectors: CollectionConnector[]) {
    for (const connector of connectors) {
      if (this.byName.has(connector.name)) throw new Error(`programmer error: collection channel ${connector.name} registered twice`);
      this.byName.set(connector.name, connector);
    }
  }

  get(name: string): CollectionConnector | undefined {
    return this.byName.get(name);
  }

  /** The first channel collecting in `country`. */
  forCountry(country: string): CollectionConnector | undefined {
    return [...this.byName.values()].find((connector) => country in connector.collection_capabilities.countries);
  }
}

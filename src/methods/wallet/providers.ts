// E-wallet providers: the one table saying how each wallet is paid (its flow shape), in which
// currencies, how long the customer has, and what the customer must give us. Validation of a
// wallet payment's method data reads only this table.

/**
 * redirect: the customer approves on the wallet's page or app (app switch) and comes back;
 * app_push: the wallet pushes a request to the customer's app (by phone), nothing to redirect;
 * qr: the customer scans a QR code (or opens its deeplink) with the wallet app.
 */
export type WalletFlow = "redirect" | "app_push" | "qr";

export interface WalletProvider {
  flow: WalletFlow;
  /** ISO 4217 alphabetic, upper case. */
  currencies: readonly string[];
  /** How long the customer has to approve by default, and at most. */
  default_expiry_s: number;
  expiry_max_s: number;
  /** App push needs the wallet account (a phone number) to push to. */
  phone_required: boolean;
  description: string;
}

const minutes = 60;

export const walletProviders = {
  gcash: { flow: "redirect", currencies: ["PHP"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "GCash (Philippines): redirect / app switch." },
  maya: { flow: "redirect", currencies: ["PHP"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "Maya (Philippines): redirect / app switch." },
  dana: { flow: "redirect", currencies: ["IDR"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "DANA (Indonesia): redirect / app switch." },
  ovo: { flow: "app_push", currencies: ["IDR"], default_expiry_s: 60, expiry_max_s: 60, phone_required: true, description: "OVO (Indonesia): a push to the customer's app by phone number, about 60 s to approve." },
  shopeepay: { flow: "qr", currencies: ["IDR", "PHP", "MYR", "SGD", "THB", "VND"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "ShopeePay (Southeast Asia): QR code / deeplink." },
  grabpay: { flow: "qr", currencies: ["SGD", "MYR", "PHP"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "GrabPay (Singapore, Malaysia, Philippines): QR code / deeplink." },
  paypay: { flow: "qr", currencies: ["JPY"], default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false, description: "PayPay (Japan): QR code / deeplink." },
  alipay_plus: {
    flow: "redirect", currencies: ["USD", "EUR", "GBP", "SGD", "HKD", "MYR", "PHP", "IDR", "THB", "KRW", "JPY", "CNY"],
    default_expiry_s: 15 * minutes, expiry_max_s: 60 * minutes, phone_required: false,
    description: "Alipay+ (aggregated wallets: AlipayHK, Kakao Pay, Touch 'n Go, ...): redirect to its cashier page.",
  },
} as const satisfies Record<string, WalletProvider>;

export type WalletProviderName = keyof typeof walletProviders;

export const walletProviderNames = Object.keys(walletProviders) as WalletProviderName[];

export function findWalletProvider(name: string): (WalletProvider & { name: WalletProviderName }) | undefined {
  if (!Object.hasOwn(walletProviders, name)) return undefined;
  const provider: WalletProvider = walletProviders[name as WalletProviderName];
  return { ...provider, name: name as WalletProviderName };
}

/** The provider list for API descriptions. */
export function describeWalletProviders(): string {
  return walletProviderNames
    .map((name) => {
      const provider: WalletProvider = walletProviders[name];
      return `${name}: ${provider.flow}, ${provider.currencies.join("/").toLowerCase()}`;
    })
    .join("; ");
}

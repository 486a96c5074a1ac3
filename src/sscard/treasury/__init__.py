"""The funds' bank accounts (资金账户) and their reconciliation (对账): 收入户, 支出户, 财政专户 and term deposits per
fund and bank, mirrored in the ledger's chart; maker-checker flows between them; bank statements (ISO 20022
camt.053 and a CSV variant) matched to the ledger, a reconciliation queue, daily balance checks and the monthly
余额调节表. docs/treasury.md."""

"""Small invented rulebooks that tests ingest as a user's own collection (plain text, numbered rules, no front
matter, no catalog entry)."""

DEALER_RULES = """\
Sample Dealer Rules (an invented rulebook for tests)

3\tLICENSING
3.1\tWithdrawal
3.1.1\tThe Regulator may cancel the licence of a dealer who no longer meets the threshold conditions.
3.1.2\tA dealer may surrender its licence by written notice.
3.2\tFees
3.2.1\tAn applicant must pay the application fee of 5,000 dollars when it files its application.
3.2.2\tA licensed dealer must pay an annual fee of 2,000 dollars by 31 January of each year.
4\tCONDUCT
4.1\tMarket abuse
4.1.1\tA person who disseminates false or misleading information commits market abuse whether or not the person trades.
4.1.2\tA dealer must keep records of every order for six years.
4.2\tComplaints
4.2.1\tA dealer must answer a client complaint in writing within eight weeks.
"""

"""What every stage shares: errors, exact numbers and symbols, expressions, the declaration of fields, escaping."""

-- RFC 9449 (DPoP): the thumbprint of the key a grant's refresh tokens are bound to
-- (public clients that sent a proof when the grant was created). NULL: not bound.
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;

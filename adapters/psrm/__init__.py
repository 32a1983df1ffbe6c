"""PSRM (Gældsstyrelsen's collection system): its XML, a client for it, and a simulator of it."""

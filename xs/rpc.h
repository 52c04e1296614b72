/* RPC glue (C part), owned by the RPC work. */

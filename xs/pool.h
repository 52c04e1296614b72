/* Pool glue (C part), owned by the Pool work. */

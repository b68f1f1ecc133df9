# unit test build rules

#include "ws/close_code.hpp"

#include <gtest/gtest.h>

namespace ringcast::ws {
namespace {

TEST(CloseCode, ValidityOverTheWholeRange) {
  for (uint32_t c = 0; c <= 0xFFFF; ++c) {
    const bool expected = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    ASSERT_EQ(close_code_valid(static_cast<uint16_t>(c)), expected) << c;
  }
}

TEST(CloseCode, NamedBoundaries) {
  for (uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) EXPECT_FALSE(close_code_valid(c)) << c;
  for (uint16_t c : {1000, 1003, 1007, 1014, 3000, 4999}) EXPECT_TRUE(close_code_valid(c)) << c;
}

TEST(CloseCode, EverythingWeSendIsValidForThePeer) {
  constexpr CloseCode sent[] = {CloseCode::normal,           CloseCode::going_away,      CloseCode::protocol_error,
                                CloseCode::unsupported_data, CloseCode::invalid_payload, CloseCode::policy_violation,
                                CloseCode::message_too_big,  CloseCode::internal_error,  CloseCode::try_again_later};
  constexpr uint16_t wire[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1013};
  for (size_t i = 0; i < std::size(sent); ++i) {
    EXPECT_EQ(to_wire(sent[i]), wire[i]);
    EXPECT_TRUE(close_code_valid(to_wire(sent[i])));
  }
}

}  // namespace
}  // namespace ringcast::ws
